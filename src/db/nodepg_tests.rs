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
    assert_eq!(c.host.as_deref(), Some("::1"), "2.14.1 strips the brackets");
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

/// Cross-check against the real pg-connection-string (opt-in: set
/// `NODE_PG_CS=/path/to/node_modules/pg-connection-string` and have `node`):
/// `cargo test nodepg -- --ignored`.
#[test]
#[ignore = "needs node and NODE_PG_CS"]
fn matches_real_pg_connection_string() {
    let Ok(module) = std::env::var("NODE_PG_CS") else {
        return;
    };
    let urls = [
        "postgresql://uaol:s3cret@db.example.com:26257/uaol?sslmode=verify-full",
        "postgresql://u:p@ss@host:26257/db",
        "postgresql://u:p%zz@host/db",
        "postgresql://u:p ss@host/db",
        "postgresql://u:p%40ss@host/db",
        "postgresql://u:p#ss@host/db",
        "postgresql://u:p/ss@host/db",
        "postgresql://u:p?ss@host/db",
        "postgresql://u:p@host1:26257,host2:26257/db",
        "postgresql://u:p@host:port/db",
        "postgresql://u:p@host:65536/db",
        "postgresql://u:p@[::1]:26257/db",
        "postgresql://u:pw@/defaultdb",
        "postgresql://u:pw@x.cockroachlabs.cloud/defaultdb?sslmode=verify-full",
        "mysql://u:p@h/db",
        "postgresql://h/db?options=--cluster%3Dmy-cluster-123&host=other&port=7",
        "postgresql://h/a%2Fb%20c",
        "postgresql://%75ser:pa%3Ass@h:05432/db",
        "postgresql://u:p%E2%82%AC@h/db",
        "postgres://h1,h2:5432/db",
        "postgresql://u@h/db?user=q&password=x",
    ];
    let script = "const p=require(process.env.NODE_PG_CS);const out=[];for(const u of JSON.parse(process.argv[1])){try{const c=p(u);out.push({ok:true,user:c.user||null,password:c.password||null,host:c.host||null,port:c.port||null,database:c.database||null})}catch(e){out.push({ok:false})}}console.log(JSON.stringify(out))";
    let list = serde_json::to_string(&urls).expect("json");
    let out = std::process::Command::new("node")
        .args(["-e", script, &list])
        .env("NODE_PG_CS", module)
        .output()
        .expect("node");
    let real: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("node output");
    assert_eq!(real.len(), urls.len(), "one node result per URL");
    for (url, r) in urls.iter().zip(real) {
        let ours = match read(url) {
            Err(_) => serde_json::json!({"ok": false}),
            Ok(c) => {
                serde_json::json!({"ok": true, "user": c.user, "password": c.password.as_ref().map(Secret::expose), "host": c.host, "port": c.port, "database": c.database})
            }
        };
        assert_eq!(ours, r, "{url}");
    }
}
