require "fileinto";
fileinto "Before";
if header :contains "subject" ["photos", "invoice"] {
    redirect "r1@example.net";
    redirect "r2@example.net";
    redirect "r3@example.net";
    redirect "r4@example.net";
    redirect "r5@example.net";
}
