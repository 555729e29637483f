require ["fileinto", "imap4flags"];
if exists "from" {
    if header :contains "from" "alice" {
        addflag "\\Flagged";
        if true { stop; }
        fileinto "Never";
    }
    if header :contains "to" "bob" {
        fileinto "ForBob";
    }
}
fileinto "End";
