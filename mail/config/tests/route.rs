//! Routing matrix: users, aliases, nesting, dedupe, catch-all, +detail,
//! case rules, loops and limits; and may_send_as.

use mail_config::*;

const PW: &str = "{SHA512-CRYPT}$6$.jPC2asei3dL5rPE$pmflEVzSXlQM9I0HXxVWw6BFnK7yPsyZRTjg71G1CH.kG/kCtBnTf4JLgk665dphVRC47YcpoqVndginLELlV.";

fn config(addressing: &str) -> Config {
    let lists = if addressing.contains("none") { "" } else { "lists@example.org = alice+lists@example.org\n" };
    let text = format!(
        "[server]
hostname = mail.example.org
domains = example.org example.net
[addressing]
{addressing}
[user alice@example.org]
password = {PW}
[user bob@example.org]
password = {PW}
[user carol@example.net]
password = {PW}
send_as = carol@old.example, @example.com
[aliases]
postmaster@example.org = alice@example.org
team@example.org = alice@example.org, bob@example.org, friend@elsewhere.example
all@example.org = team@example.org, bob@example.org, carol@example.net, Friend@ELSEWHERE.example
{lists}@example.net = carol@example.net
"
    );
    parse(&text, &|_: &str| false).unwrap_or_else(|e| panic!("{e:#?}"))
}

fn local(user: &str, folder: Option<&str>) -> Target {
    Target::LocalUser { user: Address::parse(user).unwrap(), folder: folder.map(String::from) }
}

fn ext(a: &str) -> Target {
    Target::External(Address::parse(a).unwrap())
}

#[test]
fn matrix() {
    let c = config("");
    let alice = || local("alice@example.org", None);
    let cases: Vec<(&str, Result<Vec<Target>, RouteError>)> = vec![
        ("alice@example.org", Ok(vec![alice()])),
        ("ALICE@Example.ORG", Ok(vec![alice()])),
        ("alice+shop@example.org", Ok(vec![local("alice@example.org", Some("shop"))])),
        ("alice+Shop.Deals@example.org", Ok(vec![local("alice@example.org", Some("Shop.Deals"))])),
        ("alice+@example.org", Ok(vec![alice()])),
        ("alice+a+b@example.org", Ok(vec![local("alice@example.org", Some("a+b"))])),
        ("+shop@example.org", Err(RouteError::Unknown)),
        ("postmaster@example.org", Ok(vec![alice()])),
        ("postmaster", Ok(vec![alice()])),
        ("PostMaster", Ok(vec![alice()])),
        ("team@example.org", Ok(vec![alice(), local("bob@example.org", None), ext("friend@elsewhere.example")])),
        (
            "team+x@example.org",
            Ok(vec![
                local("alice@example.org", Some("x")),
                local("bob@example.org", Some("x")),
                ext("friend@elsewhere.example"),
            ]),
        ),
        (
            // Nested, deduplicated: bob and friend once each.
            "all@example.org",
            Ok(vec![
                alice(),
                local("bob@example.org", None),
                ext("friend@elsewhere.example"),
                local("carol@example.net", None),
            ]),
        ),
        ("lists@example.org", Ok(vec![local("alice@example.org", Some("lists"))])),
        // The alias target's own detail wins over the inherited one.
        ("lists+other@example.org", Ok(vec![local("alice@example.org", Some("lists"))])),
        ("nobody@example.org", Err(RouteError::Unknown)),
        ("nobody+x@example.org", Err(RouteError::Unknown)),
        // Catch-all for example.net; a real user there still wins.
        ("anything@example.net", Ok(vec![local("carol@example.net", None)])),
        ("Anything+x@EXAMPLE.NET", Ok(vec![local("carol@example.net", None)])),
        ("carol+z@example.net", Ok(vec![local("carol@example.net", Some("z"))])),
        ("someone@elsewhere.example", Err(RouteError::NotLocal)),
        ("alice@example.org.evil.example", Err(RouteError::NotLocal)),
        ("not an address", Err(RouteError::BadAddress)),
        ("", Err(RouteError::BadAddress)),
        ("alice@", Err(RouteError::BadAddress)),
    ];
    for (rcpt, want) in cases {
        assert_eq!(c.resolve(rcpt), want, "{rcpt}");
    }
}

#[test]
fn case_sensitive_local_parts() {
    let c = config("case_sensitive_local_parts = yes");
    assert_eq!(c.resolve("alice@EXAMPLE.org"), Ok(vec![local("alice@example.org", None)]));
    assert_eq!(c.resolve("Alice@example.org"), Err(RouteError::Unknown));
    assert_eq!(c.resolve("Anyone@example.net"), Ok(vec![local("carol@example.net", None)]));
    assert!(c.user("Alice@example.org").is_none());
    assert!(c.user("alice@Example.Org").is_some());
}

#[test]
fn detail_separators() {
    let c = config("detail_separator = +-");
    assert_eq!(c.resolve("alice-news@example.org"), Ok(vec![local("alice@example.org", Some("news"))]));
    assert_eq!(c.resolve("alice+news@example.org"), Ok(vec![local("alice@example.org", Some("news"))]));
    let c = config("detail_separator = none");
    assert_eq!(c.resolve("alice+news@example.org"), Err(RouteError::Unknown));
    // ...but a catch-all still catches it in example.net.
    assert_eq!(c.resolve("carol+z@example.net"), Ok(vec![local("carol@example.net", None)]));
}

#[test]
fn runtime_loop_and_limits_are_caught() {
    // The parser refuses loops; corrupt a parsed config to check the
    // router's own defence.
    let mut c = config("");
    let team = c.aliases.iter().position(|a| a.source.to_string() == "team@example.org").unwrap();
    c.aliases[team].targets.push(Address::parse("all@example.org").unwrap());
    assert_eq!(c.resolve("all@example.org"), Err(RouteError::Loop));
    assert_eq!(c.resolve("team@example.org"), Err(RouteError::Loop));
    assert_eq!(c.resolve("alice@example.org"), Ok(vec![local("alice@example.org", None)]));

    // More than MAX_TARGETS distinct targets.
    let mut text = format!(
        "[server]\nhostname = m.example.org\ndomains = example.org\n[user a@example.org]\npassword = {PW}\n[aliases]\n"
    );
    for half in 0..2 {
        let list: Vec<String> = (0..600).map(|i| format!("u{half}x{i}@elsewhere.example")).collect();
        // Long lists continue on indented lines.
        text.push_str(&format!("h{half}@example.org = {}\n", list.join(",\n    ")));
    }
    text.push_str("big@example.org = h0@example.org, h1@example.org\n");
    let c = parse(&text, &|_: &str| false).unwrap();
    assert_eq!(c.resolve("h0@example.org").unwrap().len(), 600);
    assert_eq!(c.resolve("big@example.org"), Err(RouteError::TooMany));
}

#[test]
fn may_send_as() {
    let c = config("");
    assert!(c.may_send_as("alice@example.org", "alice@example.org"));
    assert!(c.may_send_as("ALICE@example.org", "Alice@EXAMPLE.org"));
    assert!(c.may_send_as("alice@example.org", "alice+shop@example.org"));
    assert!(c.may_send_as("alice@example.org", "postmaster@example.org"));
    assert!(c.may_send_as("alice@example.org", "team@example.org"));
    assert!(c.may_send_as("bob@example.org", "team@example.org"));
    assert!(c.may_send_as("carol@example.net", "all@example.org"));
    assert!(c.may_send_as("alice@example.org", "lists@example.org"));
    assert!(!c.may_send_as("bob@example.org", "alice@example.org"));
    assert!(!c.may_send_as("bob@example.org", "postmaster@example.org"));
    assert!(!c.may_send_as("bob@example.org", "lists@example.org"));
    // Catch-alls do not grant sending rights.
    assert!(!c.may_send_as("carol@example.net", "random@example.net"));
    // Explicit send_as entries.
    assert!(c.may_send_as("carol@example.net", "carol@old.example"));
    assert!(c.may_send_as("carol@example.net", "anyone@example.com"));
    assert!(!c.may_send_as("carol@example.net", "anyone@example.co"));
    assert!(!c.may_send_as("alice@example.org", "anyone@example.com"));
    // Unknown login or bad address.
    assert!(!c.may_send_as("mallory@example.org", "mallory@example.org"));
    assert!(!c.may_send_as("alice@example.org", "not an address"));
}

#[test]
fn authenticate() {
    let c = config("");
    assert_eq!(c.authenticate("alice@example.org", b"demo").unwrap().address.to_string(), "alice@example.org");
    assert_eq!(c.authenticate("Alice@Example.org", b"demo").unwrap().address.to_string(), "alice@example.org");
    assert!(c.authenticate("alice@example.org", b"Demo").is_none());
    assert!(c.authenticate("nobody@example.org", b"demo").is_none());
    assert!(c.authenticate("garbage", b"demo").is_none());
    // Aliases are not logins.
    assert!(c.authenticate("postmaster@example.org", b"demo").is_none());
}
