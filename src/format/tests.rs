use super::format_source;

fn fmt(src: &str) -> String {
    let out = format_source(src).expect("formats");
    assert_eq!(
        format_source(&out).expect("formats again"),
        out,
        "not idempotent:\n{out}"
    );
    out
}

#[test]
fn attributes_align_and_blocks_indent_two_spaces() {
    let src = "job \"web\"{\ndatacenters=[\"dc1\"]\n    type   =   \"service\"\n\n  group \"web\" {\n count=3\n      }\n}\n";
    let want = "job \"web\" {\n  datacenters = [\"dc1\"]\n  type        = \"service\"\n\n  group \"web\" {\n    count = 3\n  }\n}\n";
    assert_eq!(fmt(src), want);
}

#[test]
fn comments_stay_and_follow_the_indentation() {
    let src = "# top\njob \"a\" {\n      # about the count\n count = 1 # inline\n\n\n\n   /* block\n  comment */\n  meta {\n  k = \"v\"\n    # before the brace\n  }\n}\n# end\n";
    let want = "# top\njob \"a\" {\n  # about the count\n  count = 1 # inline\n\n  /* block\n  comment */\n  meta {\n    k = \"v\"\n    # before the brace\n  }\n}\n# end\n";
    assert_eq!(fmt(src), want);
}

#[test]
fn lists_objects_and_operators_get_single_spaces() {
    let src = "a = [1,2,  3]\nb = {x=1,  y = \"z\"}\nc = 1+2*   3\nd = max( 1,2 )\n";
    let want = "a = [1, 2, 3]\nb = { x = 1, y = \"z\" }\nc = 1 + 2 * 3\nd = max(1, 2)\n";
    assert_eq!(fmt(src), want);
}

#[test]
fn multi_line_lists_and_objects_are_reindented_and_aligned() {
    let src =
        "config {\nargs = [\n\"-p\",\n        \"8080\", # port\n]\nenv = {\nA=1\n  LONGER = \"x\"\n}\n}\n";
    let want = "config {\n  args = [\n    \"-p\",\n    \"8080\", # port\n  ]\n  env = {\n    A      = 1\n    LONGER = \"x\"\n  }\n}\n";
    assert_eq!(fmt(src), want);
}

#[test]
fn heredocs_and_strings_are_left_as_written() {
    let src = "template {\n  data = <<EOF\n   keep   these   spaces\n EOF\n  x = \"a  =  b\"\n}\n";
    let out = fmt(src);
    assert!(out.contains("   keep   these   spaces\n"), "{out}");
    assert!(out.contains("\"a  =  b\""), "{out}");
}

#[test]
fn invalid_hcl_is_an_error_with_its_position() {
    let err = format_source("job \"a\" {\n  count = \n}\n").expect_err("invalid");
    assert_eq!((err.line, err.column), (2, 11), "{err}");
}
