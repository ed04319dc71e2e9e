use std::io::ErrorKind;

use super::*;

fn alloc_dir() -> (tempfile::TempDir, Beneath) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("a1");
    std::fs::create_dir_all(root.join("alloc/logs")).unwrap();
    std::fs::create_dir_all(root.join("web/local")).unwrap();
    std::fs::write(root.join("web/local/out.txt"), b"0123456789").unwrap();
    std::fs::write(tmp.path().join("secret"), b"outside").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("secret"), root.join("web/local/escape")).unwrap();
    std::os::unix::fs::symlink(tmp.path(), root.join("up")).unwrap();
    std::os::unix::fs::symlink("../../alloc", root.join("web/local/inner")).unwrap();
    std::os::unix::fs::symlink("out.txt", root.join("web/local/same")).unwrap();
    std::os::unix::fs::symlink("../../../secret", root.join("web/local/sneaky")).unwrap();
    let b = Beneath::open(&root).unwrap();
    (tmp, b)
}

#[test]
fn paths_stay_beneath_the_allocation_directory() {
    assert_eq!(parse_path("/").unwrap(), PathBuf::new());
    assert_eq!(parse_path("").unwrap(), PathBuf::new());
    assert_eq!(parse_path("/alloc/logs").unwrap(), PathBuf::from("alloc/logs"));
    assert_eq!(parse_path("./web/local/").unwrap(), PathBuf::from("web/local"));
    for bad in ["../x", "/alloc/../../etc/passwd", "a\0b"] {
        assert_eq!(
            parse_path(bad).unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "{bad:?}"
        );
    }
    assert!(parse_path(&"a/".repeat(MAX_PATH)).is_err());
}

#[test]
fn list_and_stat_answer_alloc_file_infos() {
    let (_tmp, b) = alloc_dir();
    let root = list(&b, Path::new("")).unwrap();
    let names: Vec<&str> = root.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["alloc", "up", "web"]);
    assert!(root[0].is_dir && root[0].file_mode.starts_with('d'));
    assert_eq!(
        root[1].file_mode, "Lrwxrwxrwx",
        "a symlink is listed, not followed"
    );
    assert!(!root[1].is_dir);
    let local = list(&b, Path::new("web/local")).unwrap();
    let out = local.iter().find(|f| f.name == "out.txt").unwrap();
    assert_eq!(out.size, 10);
    assert!(
        out.content_type.is_empty(),
        "ls carries no content type, as Nomad"
    );
    let s = stat(&b, Path::new("web/local/out.txt")).unwrap();
    assert_eq!((s.name.as_str(), s.size, s.is_dir), ("out.txt", 10, false));
    assert_eq!(s.content_type, "text/plain; charset=utf-8");
    assert!(s.file_mode.starts_with('-'), "{}", s.file_mode);
    chrono::DateTime::parse_from_rfc3339(&s.mod_time).unwrap();
    let json = serde_json::to_value(&s).unwrap();
    for field in ["Name", "IsDir", "Size", "FileMode", "ModTime", "ContentType"] {
        assert!(json.get(field).is_some(), "{field} in {json}");
    }
    assert_eq!(
        stat(&b, Path::new("alloc")).unwrap().content_type,
        "application/octet-stream"
    );
}

fn denied<T>(r: io::Result<T>) -> ErrorKind {
    r.map(drop).unwrap_err().kind()
}

#[test]
fn symlinks_missing_files_and_directories_are_refused() {
    let (_tmp, b) = alloc_dir();
    assert_eq!(
        denied(stat(&b, Path::new("web/local/escape"))),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        denied(open_file(&b, Path::new("web/local/escape"))),
        ErrorKind::PermissionDenied
    );
    assert_eq!(denied(list(&b, Path::new("up"))), ErrorKind::PermissionDenied);
    assert_eq!(
        denied(open_file(&b, Path::new("up/secret"))),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        denied(open_file(&b, Path::new("web/local/sneaky"))),
        ErrorKind::PermissionDenied
    );
    assert_eq!(denied(stat(&b, Path::new("web/nothing"))), ErrorKind::NotFound);
    assert_eq!(denied(open_file(&b, Path::new("web"))), ErrorKind::InvalidInput);
    assert_eq!(
        denied(list(&b, Path::new("web/local/out.txt"))),
        ErrorKind::InvalidInput
    );
}

#[test]
fn symlinks_inside_the_directory_are_followed() {
    let (_tmp, b) = alloc_dir();
    let (mut f, size) = open_file(&b, Path::new("web/local/same")).unwrap();
    assert_eq!(read_at(&mut f, size, 0, 100).unwrap(), b"0123456789");
    let inner = list(&b, Path::new("web/local/inner")).unwrap();
    assert_eq!(
        inner.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["logs"]
    );
    assert_eq!(stat(&b, Path::new("web/local/same")).unwrap().size, 10);
}

#[test]
fn reads_are_bounded_and_offsets_checked() {
    let (_tmp, b) = alloc_dir();
    let (mut f, size) = open_file(&b, Path::new("web/local/out.txt")).unwrap();
    assert_eq!(read_at(&mut f, size, 3, 4).unwrap(), b"3456");
    assert_eq!(read_at(&mut f, size, 8, 100).unwrap(), b"89");
    assert_eq!(read_at(&mut f, size, 10, 1).unwrap(), b"");
    assert_eq!(
        read_at(&mut f, size, 11, 1).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        read_at(&mut f, size, 0, MAX_READ + 1).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn content_types_as_go_detects_them() {
    assert_eq!(detect_content_type(b"hello\n"), "text/plain; charset=utf-8");
    assert_eq!(detect_content_type(b"\x00\x01\x02"), "application/octet-stream");
    assert_eq!(detect_content_type(b"\x89PNG\r\n\x1a\nrest"), "image/png");
    assert_eq!(detect_content_type(b"  <html><body>"), "text/html; charset=utf-8");
    assert_eq!(detect_content_type(b"\x1f\x8b\x08\x00"), "application/x-gzip");
}
