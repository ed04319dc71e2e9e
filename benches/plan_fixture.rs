//! Writes a generated stack (`stack.json`) and, with `matching`, its recorded state into a
//! directory, for timing the release binary end to end:
//!
//! ```text
//! cargo bench --bench plan_fixture -- DIR N [matching]
//! /usr/bin/time -v target/release/deploy plan -refresh=false DIR/stack.json
//! ```

#[path = "support/generate.rs"]
mod generate;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let (Some(dir), Some(n)) = (args.first(), args.get(1)) else {
        eprintln!("usage: plan_fixture DIR N [matching]");
        return Ok(());
    };
    let dir = std::path::PathBuf::from(dir);
    let n: usize = n.parse()?;
    let mut stack = generate::tree_stack(n);
    std::fs::create_dir_all(&dir)?;
    stack.root = dir.join("stack.json");
    std::fs::write(dir.join("stack.json"), serde_json::to_vec(&stack)?)?;
    let state_dir = dir.join("state").join("bench");
    let _ = std::fs::remove_dir_all(&state_dir);
    if args.get(2).is_some_and(|m| m == "matching") {
        let store = deploy::state::StateStore::new(&state_dir);
        store.write(&generate::matching_state(&stack))?;
    }
    println!("wrote {} jobs to {}", n, dir.display());
    Ok(())
}
