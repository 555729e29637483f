//! The DSN parsed by an independent implementation: Python's `email`
//! package must see a multipart/report with report-type=delivery-status,
//! a message/delivery-status part whose per-message and per-recipient
//! blocks it splits itself, and text/rfc822-headers.

use mail_outbound::dsn::{build, header_block, status_from_reply, Action, DsnInput, DsnRecipient};
use std::process::Command;

const SCRIPT: &str = r#"
import sys, email
from email import policy
raw = open(sys.argv[1], 'rb').read()
m = email.message_from_bytes(raw, policy=policy.compat32)
assert not m.defects, m.defects
assert m.get_content_type() == 'multipart/report', m.get_content_type()
assert m.get_param('report-type') == 'delivery-status'
assert m['Auto-Submitted'] == 'auto-replied'
assert m['From'] == 'Mail Delivery System <MAILER-DAEMON@mx.ex.test>'
parts = m.get_payload()
assert [p.get_content_type() for p in parts] == ['text/plain', 'message/delivery-status', 'text/rfc822-headers'], [p.get_content_type() for p in parts]
for p in parts:
    assert not p.defects, p.defects
blocks = parts[1].get_payload()
assert len(blocks) == 3, len(blocks)
assert blocks[0]['Reporting-MTA'] == 'dns; mx.ex.test'
assert email.utils.parsedate_to_datetime(blocks[0]['Arrival-Date']).timestamp() == 1800000000
assert blocks[1]['Final-Recipient'] == 'rfc822; bob@far.test'
assert blocks[1]['Action'] == 'failed' and blocks[1]['Status'] == '5.1.1'
assert blocks[1]['Diagnostic-Code'] == 'smtp; 550 5.1.1 no such user'
assert blocks[2]['Action'] == 'delayed' and blocks[2]['Status'] == '4.7.1'
hdrs = email.message_from_string(parts[2].get_payload())
assert hdrs['Subject'] == 'lunch' and hdrs['Message-ID'] == '<1@ex.test>'
print('python-email-ok')
"#;

#[test]
fn python_email_reads_our_dsn() {
    let have = Command::new("python3").arg("--version").output().is_ok();
    if !have {
        if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false") {
            panic!("python3 is required under CI");
        }
        eprintln!("!!! SKIPPING python_email_reads_our_dsn: python3 not installed !!!");
        return;
    }
    let orig =
        b"From: Alice <alice@ex.test>\r\nTo: bob@far.test\r\nSubject: lunch\r\nMessage-ID: <1@ex.test>\r\n\r\nbody\r\n";
    let rcpts = [
        DsnRecipient {
            address: "bob@far.test".into(),
            action: Action::Failed,
            status: status_from_reply("550 5.1.1 no such user"),
            remote_mta: Some("mx.far.test".into()),
            diagnostic: Some("550 5.1.1 no such user".into()),
            last_attempt: Some(1_800_000_100),
            will_retry_until: None,
        },
        DsnRecipient {
            address: "carol@slow.test".into(),
            action: Action::Delayed,
            status: status_from_reply("451 4.7.1 greylisted"),
            remote_mta: Some("mx.slow.test".into()),
            diagnostic: Some("451 4.7.1 greylisted".into()),
            last_attempt: Some(1_800_000_100),
            will_retry_until: Some(1_800_432_000),
        },
    ];
    let dsn = build(&DsnInput {
        hostname: "mx.ex.test",
        original_sender: "alice@ex.test",
        queue_id: "6b49d200.0.1",
        arrival: 1_800_000_000,
        now: 1_800_000_200,
        nonce: 42,
        recipients: &rcpts,
        original_headers: header_block(orig),
    })
    .unwrap();
    let dir = std::env::temp_dir().join(format!("mail-outbound-dsn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dsn.eml");
    std::fs::write(&path, &dsn.message).unwrap();
    let out = Command::new("python3").arg("-c").arg(SCRIPT).arg(&path).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("python-email-ok"),
        "python said: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
