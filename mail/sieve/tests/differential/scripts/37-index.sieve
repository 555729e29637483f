require ["index", "fileinto", "date", "variables"];
if header :index 1 :matches "received" "from *" { fileinto "FirstHop.${1}"; }
if header :index 1 :last :contains "received" "origin" { fileinto "LastHopOrigin"; }
if address :index 2 :is :domain "to" "example.net" { fileinto "SecondTo"; }
if header :index 3 :contains "received" "" { fileinto "ThreeHops"; }
if date :originalzone :is "received" "date" "2026-11-21" { fileinto "FirstHopDate"; }
if date :matches "date" "iso8601" "*" { fileinto "Iso.${1}"; }
