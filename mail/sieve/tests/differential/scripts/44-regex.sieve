require ["regex", "variables", "fileinto", "body"];
if header :regex "subject" "^\\[([a-z]+)\\] (.*)$" { fileinto "R.${1}"; }
if address :regex :domain "from" "^(lists|shop)\\.example\\.(net|org)$" { fileinto "Dom.${1}.${2}"; }
if header :regex "subject" "[0-9]{4}-[0-9]{2}" { fileinto "HasYearMonth"; }
if header :comparator "i;octet" :regex "subject" "^[A-Z]" { fileinto "UpperStart"; }
if header :regex "message-id" "^<([a-z]+)-([0-9]+)@" { fileinto "Id.${1}.${2}"; }
if not header :regex "subject" "e" { fileinto "NoE"; }
if body :regex "(invoice|lunch|milk)" { fileinto "BodyWord"; }
set "q" "\\[dev\\]";
if header :regex "subject" "${q}" { fileinto "QuotedDev"; }
