require ["encoded-character", "fileinto"];
if header :contains "subject" "${hex:48 65 6c 6c 6f}" { fileinto "Hex${unicode:2d}Hello"; }
if header :contains "subject" "${unicode:0052 0065}" { fileinto "Re"; }
if header :contains "subject" "café" { fileinto "Cafe2047"; }
if header :contains "subject" "CAFÉ" { fileinto "CafeUpper"; }
if header :contains "subject" "=?UTF-8?" { fileinto "Undecoded"; }
