require "fileinto";
if header :comparator "i;octet" :contains "subject" "Hello" { fileinto "CaseHello"; }
if header :comparator "i;octet" :contains "subject" "hello" { fileinto "LowerHello"; }
if header :comparator "i;ascii-casemap" :is "subject" "HELLO BOB" { fileinto "AnyCase"; }
if header :comparator "i;octet" :matches "subject" "*SPAM*" { fileinto "SpamUpper"; }
