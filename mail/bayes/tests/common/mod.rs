//! A deterministic generated mail corpus (spam and ham), shared by the
//! corpus test and the `gen_corpus` example. See tests/corpus.rs for why
//! it is generated and what makes it hard.
#![allow(dead_code)]

use base64ct::{Base64, Encoding};

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
    pub fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

const COMMON: &str = "the of and to a in is it you that he was for on are with as his they be at one have this from \
or had by not word but what some we can out other were all there when up use your how said an each she which do their \
time if will way about many then them write would like so these her long make thing see him two has look more day could \
go come did number sound no most people my over know water than call first who may down side been now find any new work \
part take get place made live where after back little only round man year came show every good me give our under name \
very through just form sentence great think say help low line differ turn cause much mean before move right boy old too \
same tell does set three want air well also play small end put home read hand port large spell add even land here must \
big high such follow act why ask men change went light kind off need house picture try us again animal point mother \
world near build self earth father head stand own page should country found answer school grow study still learn plant \
cover food sun four between state keep eye never last let thought city tree cross farm hard start might story saw far \
sea draw left late run while press close night real life few north open seem together next white children begin got \
walk example ease paper group always music those both mark often letter until mile river car feet care second book \
carry took science eat room friend began idea fish mountain stop once base hear horse cut sure watch color face wood main";

const AMBIGUOUS: &str = "free offer account order payment click link price deal update security invoice winner \
today now special discount save subscribe unsubscribe newsletter limited online shipping delivery password verify \
confirm bank money credit card gift new exclusive access bonus";

const HAM_TOPICS: [&str; 8] = [
    "meeting agenda project deadline review quarterly slides budget team schedule minutes action items status report \
     manager roadmap milestone planning retrospective sprint standup office conference room calendar invite",
    "patch kernel compile build commit branch merge rebase test failure regression bisect maintainer upstream release \
     changelog bug fix segfault backtrace driver module config makefile pull request diff",
    "mom dad dinner birthday weekend kids grandma visit cake party photos garden holiday christmas cousin wedding \
     anniversary recipe soup church picnic",
    "flight hotel booking itinerary airport train ticket passport visa luggage reservation museum beach hiking tour \
     guide map rental checkin departure arrival",
    "homework teacher class exam grade semester lecture assignment thesis professor seminar library essay chapter \
     tutorial lab syllabus campus enrollment",
    "invoice receipt order shipped tracking package warehouse subscription renewal statement billing period amount due \
     paid thanks customer service reference",
    "choir rehearsal concert violin piano sheet music tempo conductor soprano practice hall tickets program orchestra \
     symphony",
    "garden tomato seeds compost soil harvest pruning roses greenhouse watering mulch fertilizer orchard apples \
     beekeeping honey",
];

const SPAM_TOPICS: [&str; 8] = [
    "viagra cialis pills pharmacy prescription cheap generic meds doctor erection enhancement dosage tablets canadian \
     rx refill overnight discreet",
    "loan mortgage refinance approved rates lender debt consolidation cash advance instant approval bad credit apply \
     funds",
    "bitcoin crypto investment profit returns trading signals wealth millionaire forex portfolio guaranteed passive \
     income opportunity",
    "congratulations winner lottery prize claim jackpot selected lucky draw sweepstakes reward voucher million dollars \
     notification",
    "suspended unusual activity verify identity login restore locked immediately urgent compliance department \
     failure helpdesk mailbox quota",
    "singles dating hot lonely meet tonight chat profile photos nearby girls hookup match flirt",
    "replica watches rolex handbags designer luxury outlet authentic brand sale wholesale sunglasses",
    "seo ranking traffic backlinks website google first page marketing leads email list targeted campaign \
     guaranteed clients",
];

const HAM_DOMAINS: [&str; 6] = [
    "example.org",
    "lists.kernel.example",
    "university.example.edu",
    "family.example.net",
    "shop.example.com",
    "work.example.com",
];
const SPAM_TLDS: [&str; 6] = ["biz", "top", "info", "xyz", "ru", "click"];

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

fn random_word(r: &mut Rng) -> String {
    let n = 4 + r.below(8);
    (0..n).map(|_| (b'a' + r.below(26) as u8) as char).collect()
}

pub struct Gen {
    common: Vec<&'static str>,
    amb: Vec<&'static str>,
    ham: Vec<Vec<&'static str>>,
    spam: Vec<Vec<&'static str>>,
}

impl Gen {
    pub fn new() -> Gen {
        Gen {
            common: words(COMMON),
            amb: words(AMBIGUOUS),
            ham: HAM_TOPICS.iter().map(|t| words(t)).collect(),
            spam: SPAM_TOPICS.iter().map(|t| words(t)).collect(),
        }
    }

    fn text(&self, r: &mut Rng, topic: &[&str], n: usize, amb_pct: usize, noise_pct: usize) -> String {
        let mut out = String::new();
        for i in 0..n {
            let roll = r.below(100);
            let w = if roll < noise_pct {
                random_word(r)
            } else if roll < noise_pct + amb_pct {
                r.pick(&self.amb).to_string()
            } else if roll < 55 {
                r.pick(&self.common).to_string()
            } else {
                r.pick(topic).to_string()
            };
            if i > 0 {
                out.push(if r.chance(8) { '\n' } else { ' ' });
            }
            if r.chance(5) {
                out.push_str(&w.to_uppercase());
            } else {
                out.push_str(&w);
            }
            if r.chance(7) {
                out.push('.');
            }
        }
        out
    }

    pub fn message(&self, r: &mut Rng, spam: bool) -> Vec<u8> {
        let topic = if spam { &self.spam[r.below(8)] } else { &self.ham[r.below(8)] };
        let (amb, noise) =
            if spam { (12, if r.chance(30) { 15 } else { 2 }) } else { (if r.chance(20) { 15 } else { 4 }, 1) };
        let n = 20 + r.below(180);
        let mut body = self.text(r, topic, n, amb, noise);
        if spam && r.chance(25) {
            // Bayes poisoning: a paragraph of ham text.
            let ham_topic = &self.ham[r.below(8)];
            body.push_str("\n\n");
            let n = 40 + r.below(80);
            body.push_str(&self.text(r, ham_topic, n, 2, 0));
        }
        if !spam && r.chance(15) {
            // Ham that talks like an ad: a legitimate newsletter.
            body.push_str("\n\n");
            body.push_str(&self.text(r, &self.amb, 30, 50, 0));
        }
        let from_domain =
            if spam { format!("{}.{}", random_word(r), r.pick(&SPAM_TLDS)) } else { r.pick(&HAM_DOMAINS).to_string() };
        if r.chance(if spam { 70 } else { 25 }) {
            let host = if spam {
                format!("{}.{}", random_word(r), r.pick(&SPAM_TLDS))
            } else {
                r.pick(&HAM_DOMAINS).to_string()
            };
            body.push_str(&format!("\nhttps://{host}/{}\n", random_word(r)));
        }
        let sn = 3 + r.below(6);
        let subject = self.text(r, topic, sn, amb, 0).replace('\n', " ");
        let subject =
            if r.chance(15) { format!("=?utf-8?B?{}?=", b64(subject.as_bytes()).replace("\r\n", "")) } else { subject };
        let from = format!("{} <{}@{}>", r.pick(&self.common), random_word(r), from_domain);
        let head = format!("From: {from}\r\nTo: user@example.org\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n");
        let html = |b: &str| format!("<html><body><p>{}</p></body></html>", b.replace('\n', "<br>\n"));
        let form = r.below(if spam { 5 } else { 4 });
        let msg = match form {
            0 => format!("{head}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"),
            1 => format!(
                "{head}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
                b64(body.as_bytes())
            ),
            2 => format!(
                "{head}Content-Type: multipart/alternative; boundary=alt\r\n\r\n--alt\r\nContent-Type: text/plain\r\n\r\n{body}\r\n\
                 --alt\r\nContent-Type: text/html\r\n\r\n{}\r\n--alt--\r\n",
                html(&body)
            ),
            3 => format!(
                "{head}Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n",
                body.replace('=', "=3D")
            ),
            _ => format!("{head}Content-Type: text/html\r\n\r\n{}\r\n", html(&body)),
        };
        msg.into_bytes()
    }
}

fn b64(data: &[u8]) -> String {
    let s = Base64::encode_string(data);
    s.as_bytes().chunks(76).map(|l| std::str::from_utf8(l).unwrap()).collect::<Vec<_>>().join("\r\n")
}
