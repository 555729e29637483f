require ["vacation", "fileinto"];
if header :contains "subject" "photos" { fileinto "Photos"; }
vacation :days 10 :addresses ["bob+family@example.com", "bob.builder@example.com"]
    :from "bob@example.com" :handle "away-2026" :mime
    text:
Content-Type: text/plain; charset=utf-8

I am on holiday.
.
;
