//! node-postgres readings from the reference's experiments (pg-connection-string
//! 2.x under Node 20), as facts the emulation must reproduce.

use super::*;

fn cfg(raw: &str) -> NodeConfig {
    match read(raw) {
        Ok(c) => c,
        Err(e) => panic!("{raw}: {e:?}"),
    }
}

fn pw(c: &NodeConfig) -> Option<&str> {
    c.password.as_ref().map(Secret::expose)
}

#[test]
fn plain_url() {
    let c = cfg("postgresql://uaol:s3cret@db.example.com:26257/uaol?sslmode=verify-full");
    assert_eq!(c.user.as_deref(), Some("uaol"));
    assert_eq!(pw(&c), Some("s3cret"));
    assert_eq!(c.host.as_deref(), Some("db.example.com"));
    assert_eq!(c.port.as_deref(), Some("26257"));
    assert_eq!(c.database.as_deref(), Some("uaol"));
    assert_eq!(c.param("sslmode"), Some("verify-full"));
}

#[test]
fn last_at_wins_and_escapes_are_lenient() {
    let c = cfg("postgresql://u:p@ss@host:26257/db");
    assert_eq!((pw(&c), c.host.as_deref()), (Some("p@ss"), Some("host")));
    assert_eq!(pw(&cfg("postgresql://u:p%zz@host/db")), Some("p%zz"));
    assert_eq!(pw(&cfg("postgresql://u:p ss@host/db")), Some("p ss"));
    assert_eq!(pw(&cfg("postgresql://u:p%40ss@host/db")), Some("p@ss"));
}

#[test]
fn invalid_urls() {
    for raw in [
        "postgresql://u:p#ss@host/db",
        "postgresql://u:p/ss@host/db",
        "postgresql://u:p?ss@host/db",
        "postgresql://u:p@host1:26257,host2:26257/db",
        "postgresql://u:p@host:port/db",
        "postgresql://u:p@host:65536/db",
        "postgresql://u:p@[::1/db",
    ] {
        assert_eq!(read(raw).err(), Some(NodeError::InvalidUrl), "{raw}");
    }
}

#[test]
fn hosts_ports_and_defaults() {
    let c = cfg("postgresql://u:p@[::1]:26257/db");
    assert_eq!(c.host.as_deref(), Some("[::1]"));
    let c = cfg("postgresql://u:pw@x.cockroachlabs.cloud/defaultdb?sslmode=verify-full");
    assert_eq!(c.port, None, "pg then uses 5432");
    let c = cfg("postgresql://u:pw@/defaultdb");
    assert_eq!(c.host, None, "dummy-host retry: pg then uses localhost");
    assert_eq!(c.database.as_deref(), Some("defaultdb"));
    let c = cfg("");
    assert_eq!(
        (c.host.as_deref(), c.database.as_deref()),
        (Some("base"), None)
    );
    let c = cfg("mysql://u:p@h/db");
    assert_eq!(c.host.as_deref(), Some("h"));
    let c = cfg("postgresql://h/db?options=--cluster%3Dmy-cluster-123&host=other&port=7");
    assert_eq!(c.param("options"), Some("--cluster=my-cluster-123"));
    assert_eq!(
        (c.host.as_deref(), c.port.as_deref()),
        (Some("other"), Some("7"))
    );
    let c = cfg("/var/run/pg mydb");
    assert_eq!(
        (c.host.as_deref(), c.database.as_deref()),
        (Some("/var/run/pg"), Some("mydb"))
    );
}
