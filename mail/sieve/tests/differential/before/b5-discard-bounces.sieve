if header :is "auto-submitted" "auto-replied" { discard; }
