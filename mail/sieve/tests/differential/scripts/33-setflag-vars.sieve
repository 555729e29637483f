require ["imap4flags", "variables", "fileinto"];
set "myflags" "";
addflag "myflags" "\\Seen";
if header :contains "subject" "invoice" { addflag "myflags" "$Invoice"; }
if hasflag "myflags" "$invoice" { fileinto :flags "${myflags}" "Invoices"; }
keep :flags "${myflags}";
