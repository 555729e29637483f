require ["fileinto", "body"];
if size :under 100 { fileinto "Under100"; }
if size :over 300 { fileinto "Over300"; }
if body :contains "*stars*" { fileinto "BodyStars"; }
if body :matches "*\\\\backslash*" { fileinto "BodyBackslash"; }
if body :raw :matches "*?questions?*" { fileinto "RawQ"; }
if body :is "b" { fileinto "BodyIsB"; }
