use super::*;
use tempfile::TempDir;

fn entries(dir: &TempDir) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn writes_and_replaces_leaving_no_temp_file() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("model.bin");
    write_atomic(&path, b"first").unwrap();
    write_atomic(&path, b"second version").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"second version");
    assert_eq!(entries(&dir), vec!["model.bin".to_string()]);
}

#[test]
fn failure_midway_keeps_the_old_file_and_removes_the_temp() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("state.json");
    write_atomic(&path, b"good").unwrap();
    let err = write_atomic_with(&path, |w| {
        w.write_all(b"half")?;
        Err(std::io::Error::other("disk full"))
    })
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("writing") && msg.contains("state.json") && msg.contains("disk full"),
        "{msg}"
    );
    assert_eq!(fs::read(&path).unwrap(), b"good");
    assert_eq!(entries(&dir), vec!["state.json".to_string()]);
}

#[test]
fn failed_rename_removes_the_temp() {
    let dir = TempDir::new().unwrap();
    let target = dir.path().join("occupied");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep"), b"x").unwrap();
    let err = write_atomic(&target, b"data").unwrap_err();
    assert!(err.to_string().contains("replacing"), "{err}");
    assert_eq!(entries(&dir), vec!["occupied".to_string()]);
    assert!(target.join("keep").exists());
}

#[test]
fn missing_directory_is_reported_with_the_path() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("no-such-dir").join("f.json");
    let err = write_json_atomic(&path, &vec![1, 2])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("creating temporary file") && err.contains("no-such-dir"),
        "{err}"
    );
}

struct Unserialisable;

impl Serialize for Unserialisable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("refused"))
    }
}

#[test]
fn json_is_written_and_serialisation_errors_change_nothing() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("run.json");
    write_json_atomic(&path, &serde_json::json!({"epoch": 3})).unwrap();
    let back: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(back["epoch"], 3);
    let err = write_json_atomic(&path, &Unserialisable)
        .unwrap_err()
        .to_string();
    assert!(err.contains("run.json") && err.contains("refused"), "{err}");
    assert_eq!(
        back,
        serde_json::from_slice::<serde_json::Value>(&fs::read(&path).unwrap()).unwrap()
    );
    assert_eq!(entries(&dir), vec!["run.json".to_string()]);
}

#[test]
fn pending_file_is_removed_unless_committed() {
    let dir = TempDir::new().unwrap();
    let target = dir.path().join("figure.png");
    {
        let p = PendingFile::new(&target).unwrap();
        fs::write(p.temp_path(), b"half").unwrap();
        assert_eq!(entries(&dir).len(), 1);
    }
    assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
    let p = PendingFile::new(&target).unwrap();
    fs::write(p.temp_path(), b"whole").unwrap();
    p.commit().unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"whole");
    assert_eq!(entries(&dir), vec!["figure.png".to_string()]);
}

#[test]
fn stale_temps_of_dead_writers_are_removed_and_others_kept() {
    let dir = TempDir::new().unwrap();
    // A process id above the kernel's maximum (4194304) never exists.
    let dead = ".4999999-3.tmp.state.json";
    let own = format!(".{}-0.tmp.state.json", std::process::id());
    for name in [
        dead,
        own.as_str(),
        "state.json",
        ".hidden",
        "x.tmp",
        ".a-1.tmp.b",
    ] {
        fs::write(dir.path().join(name), b"x").unwrap();
    }
    let removed = remove_stale_temps(dir.path()).unwrap();
    if Path::new("/proc/self").exists() {
        assert_eq!(removed, vec![dead.to_string()]);
    } else {
        assert!(removed.is_empty());
    }
    let left = entries(&dir);
    assert!(left.contains(&own) && left.contains(&"state.json".to_string()));
    assert_eq!(left.len(), if removed.is_empty() { 6 } else { 5 });
}

#[test]
fn temp_names_are_recognised() {
    assert_eq!(temp_writer_pid(".123-4.tmp.model.safetensors"), Some(123));
    assert_eq!(temp_writer_pid(".1-2.tmp.f"), Some(1));
    assert_eq!(temp_writer_pid("model.safetensors"), None);
    assert_eq!(temp_writer_pid(".x-2.tmp.f"), None);
    assert_eq!(temp_writer_pid(".1-y.tmp.f"), None);
    let p = PendingFile::new("dir/epoch-0001.safetensors").unwrap();
    let name = p.temp_path().file_name().unwrap().to_str().unwrap();
    assert_eq!(temp_writer_pid(name), Some(std::process::id()));
}
