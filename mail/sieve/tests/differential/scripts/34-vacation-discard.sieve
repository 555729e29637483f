require ["vacation"];
if header :contains "from" ["alice", "dave", "news", "carol"] {
    vacation :subject "Re: ${subject}" "Thanks, I will read it later.";
}
discard;
