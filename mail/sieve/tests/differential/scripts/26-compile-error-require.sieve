if header :contains "subject" "x" { fileinto "y"; }
