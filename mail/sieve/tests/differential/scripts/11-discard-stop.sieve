if header :contains "X-Spam" "Yes" { discard; stop; }
if header :is "Auto-Submitted" "auto-replied" { discard; }
keep;
