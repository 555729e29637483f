require "fileinto";
if exists ["List-Id", "Precedence"] { fileinto "Bulk"; }
elsif exists "Auto-Submitted" { fileinto "Auto"; }
elsif exists ["X-Mailer"] { fileinto "Mailer"; }
