//! IMAP command framing (literals `{n}`, `{n+}`, `~{n}`) and the command
//! parser: arbitrary bytes through `Framer` with small limits, every frame
//! through `parse_command`, and the raw input through `parse_command` too.
#![no_main]
use fuzz_common::{fragments, Reader};
use libfuzzer_sys::fuzz_target;
use mail_imap::framer::{Frame, Framer};
use mail_imap::{parse_command, Limits};

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let (lim, split) = (r.byte(), r.byte());
    let input = r.rest();
    let _ = parse_command(input);
    let limits = Limits {
        max_line: 16 + (lim as usize & 15) * 64,
        max_literal: 8 << (lim >> 4 & 3),
        max_append: 64 << (lim >> 6),
        max_command: 2048,
    };
    let mut f = Framer::new(limits);
    let mut frames = 0;
    for piece in fragments(input, split) {
        let mut rest = piece;
        while !rest.is_empty() {
            let len = rest.len();
            let (n, frame) = f.push(rest);
            assert!(n <= len);
            rest = &rest[n..];
            let none = frame.is_none();
            match frame {
                Some(Frame::Command(cmd)) => {
                    // Not asserted: cmd.len() <= max_command + max_append.
                    // Every literal of an APPEND command is exempt from
                    // max_command, so MULTIAPPEND makes a command of any
                    // size (regressions/imap_command/open-multiappend-unbounded).
                    let _ = cmd.len();
                    frames += 1;
                    if let Ok(c) = parse_command(&cmd) {
                        let _ = format!("{c:?}");
                    }
                    // Raw mode is used after AUTHENTICATE and IDLE.
                    f.set_raw(frames % 5 == 0);
                }
                Some(_) => {}
                None => assert_eq!(n, len, "no frame but input left over"),
            }
            if n == 0 && none {
                break;
            }
        }
    }
});
