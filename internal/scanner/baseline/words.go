package baseline

// commonPasswords is the built-in dictionary, most likely first: the top of
// the public breach-derived lists (the "most common passwords" lists of
// NCSC, SplashData/NordPass and the SecLists top-N files overlap almost
// completely at this size) followed by the default and vendor passwords
// that show up in container images and appliances. Order matters: when the
// hashing budget runs out on slow hashes, only the head of the list is
// tried.
var commonPasswords = []string{
	"123456", "password", "root", "admin", "toor", "123456789", "12345678", "12345",
	"qwerty", "1234567", "111111", "123123", "1234567890", "1234", "abc123", "password1",
	"changeme", "000000", "admin123", "root123", "test", "guest", "default", "P@ssw0rd",
	"passw0rd", "Passw0rd", "letmein", "welcome", "iloveyou", "1q2w3e4r", "qwerty123", "123321",
	"666666", "654321", "7777777", "123", "1qaz2wsx", "dragon", "monkey", "sunshine",
	"princess", "football", "baseball", "master", "shadow", "superman", "michael", "trustno1",
	"qwertyuiop", "123qwe", "zaq12wsx", "asdfghjkl", "asdf", "qazwsx", "secret", "pass",
	"pass123", "password123", "Password", "Password1", "Password123", "Admin", "Admin123", "administrator",
	"user", "user123", "test123", "testing", "demo", "temp", "temp123", "1111",
	"11111111", "112233", "121212", "131313", "159753", "987654321", "88888888", "555555",
	"222222", "333333", "444444", "999999", "00000000", "1234qwer", "qwer1234", "q1w2e3r4",
	"1qazxsw2", "zxcvbnm", "zxcvbn", "asdf1234", "asd123", "qwe123", "abcd1234", "abcdef",
	"abc", "aaaaaa", "a123456", "123456a", "iloveu", "lovely", "love", "hello",
	"hello123", "welcome1", "welcome123", "login", "access", "letmein1", "starwars", "whatever",
	"freedom", "ninja", "mustang", "batman", "jordan", "hunter", "hunter2", "killer",
	"charlie", "robert", "daniel", "thomas", "jessica", "ashley", "nicole", "jennifer",
	"computer", "internet", "server", "system", "manager", "oracle", "mysql", "postgres",
	"postgresql", "redis", "mongodb", "mongo", "docker", "kubernetes", "ubuntu", "debian",
	"alpine", "centos", "redhat", "fedora", "linux", "raspberry", "pi", "vagrant",
	"jenkins", "tomcat", "nagios", "zabbix", "elastic", "kibana", "grafana", "git",
	"gitlab", "ftp", "ftpuser", "www", "www-data", "web", "webadmin", "sysadmin",
	"support", "service", "operator", "backup", "sa", "dba", "db2inst1", "informix",
	"cisco", "huawei", "Huawei@123", "Admin@123", "Admin@1234", "admin@123", "root@123", "Root@123",
	"Aa123456", "Aa123456!", "Qwerty123", "Qwerty123!", "P@ssword", "P@ssw0rd!", "P@$$w0rd", "Pa$$w0rd",
	"Welcome1", "Welcome123", "Changeme", "changeme123", "changeit", "secret123", "s3cr3t", "nopassword",
	"blank", "none", "null", "12qwaszx", "!QAZ2wsx", "1q2w3e", "1q2w3e4r5t", "q1w2e3",
	"qazwsxedc", "147258369", "741852963", "789456123", "987654", "696969", "7654321", "121314",
}
