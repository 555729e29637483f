require ["fileinto", "copy"];
fileinto :copy "Archive";
stop;
