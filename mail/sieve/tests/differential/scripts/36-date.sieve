require ["date", "relational", "fileinto", "variables"];
if date :value "ge" :originalzone "date" "year" "2026" { fileinto "Recent"; }
if date :is :originalzone "date" "weekday" "6" { fileinto "Saturday"; }
if date :is :zone "+0200" "date" "hour" "12" { fileinto "NoonInCET"; }
if date :matches "date" "date" "*-*-*" { fileinto "D.${1}.${2}.${3}"; }
if date :is "date" "zone" "+0000" { fileinto "LocalZoneUTC"; }
if date :is :originalzone "date" "time" "10:00:00" { fileinto "TenOClock"; }
if date :is :zone "-0500" "date" "julian" "61365" { fileinto "Julian"; }
if currentdate :value "ge" "year" "2024" { fileinto "Now"; }
if not exists "date" { fileinto "NoDate"; }
