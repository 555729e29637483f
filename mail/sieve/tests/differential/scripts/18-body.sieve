require ["body", "fileinto"];
if body :text :contains "invoice" { fileinto "BodyInvoice"; }
if body :raw :contains "<b>invoice</b>" { fileinto "RawHtml"; }
if body :content "text/html" :contains "html" { fileinto "HasHtml"; }
if body :contains ["lunch", "milk"] { fileinto "Food"; }
