require "fileinto";
if header :contains "subject" { fileinto "y"; }
