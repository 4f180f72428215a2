package baseline

// Severity levels, as HSS names them. "Security" (no risk) is what an
// aggregate shows when nothing failed; no rule carries it.
const (
	SeverityLow    = "Low"
	SeverityMedium = "Medium"
	SeverityHigh   = "High"
)

// Standards, as HSS names them.
const (
	// StandardHW is Huawei's cloud-security practice.
	StandardHW = "hw_standard"
	// StandardCN is classified-protection (等保) compliance.
	StandardCN = "cn_standard"
)

// Baseline names (check_name). For Linux baselines HSS reports check_type
// equal to check_name, and so do these.
const (
	CheckImageConfig    = "Docker image configuration"
	CheckAccounts       = "Linux account security"
	CheckPasswordPolicy = "Linux password policy"
	CheckFiles          = "Linux file permissions"
	CheckSSH            = "SSH configuration"
)

// Rule ids. They are stored with scan results and used in URLs: never
// change one; retire it and add a new one.
const (
	RuleRunsAsRoot        = "config.runs-as-root"
	RuleNoHealthcheck     = "config.no-healthcheck"
	RuleSecretInEnv       = "config.secret-in-env"
	RuleAddRemoteURL      = "config.add-remote-url"
	RulePipeToShell       = "config.pipe-to-shell"
	RuleSSHD              = "config.sshd"
	RuleEmptyPassword     = "account.empty-password"
	RuleExtraUID0         = "account.uid0-non-root"
	RuleWeakPassword      = "account.weak-password"
	RulePassMaxDays       = "password.max-days"
	RulePassMinLen        = "password.min-length"
	RuleWorldWritable     = "file.world-writable"
	RuleUnexpectedSetuid  = "file.unexpected-setuid"
	RulePrivateKey        = "file.private-key"
	RuleSSHRootLogin      = "ssh.permit-root-login"
	RuleSSHEmptyPasswords = "ssh.permit-empty-passwords"
)

// RuleInfo describes one rule: what the risk-configs APIs and the docs show.
type RuleInfo struct {
	ID          string // stable id
	Name        string // short name: HSS's check_rule_name
	CheckName   string // the baseline it belongs to
	CheckType   string
	Severity    string
	Standard    string
	Description string
	Remediation string
}

// BaselineInfo describes one baseline (a check_name and its rules).
type BaselineInfo struct {
	CheckName   string
	CheckType   string
	Standard    string
	Description string // HSS's check_type_desc
}

var baselines = []BaselineInfo{
	{CheckImageConfig, CheckImageConfig, StandardHW,
		"How the image is built and configured to run, after CIS Docker Benchmark section 4 (container images and build files)."},
	{CheckAccounts, CheckAccounts, StandardCN,
		"Operating-system accounts baked into the image: empty and weak passwords, extra superusers."},
	{CheckPasswordPolicy, CheckPasswordPolicy, StandardCN,
		"Password ageing and length policy in /etc/login.defs."},
	{CheckFiles, CheckFiles, StandardHW,
		"File permissions and sensitive files in the image's final filesystem."},
	{CheckSSH, CheckSSH, StandardHW,
		"OpenSSH server configuration shipped in the image (/etc/ssh/sshd_config and its includes)."},
}

// Baselines lists every baseline, in a fixed order.
func Baselines() []BaselineInfo { return append([]BaselineInfo(nil), baselines...) }

func rule(id, name, check, severity, desc, fix string) RuleInfo {
	std := StandardHW
	for _, b := range baselines {
		if b.CheckName == check {
			std = b.Standard
		}
	}
	return RuleInfo{ID: id, Name: name, CheckName: check, CheckType: check, Severity: severity, Standard: std, Description: desc, Remediation: fix}
}

var rules = []RuleInfo{
	rule(RuleRunsAsRoot, "Image runs as a non-root user", CheckImageConfig, SeverityMedium,
		"The image's configuration has no USER, or names root (root, 0, or an account with UID 0): every container started from it runs as root unless the runtime overrides it (CIS Docker Benchmark 4.1).",
		"Create an unprivileged account in the image and set USER to it (a name or a numeric UID other than 0)."),
	rule(RuleNoHealthcheck, "Image defines a HEALTHCHECK", CheckImageConfig, SeverityLow,
		"The image's configuration has no HEALTHCHECK, or HEALTHCHECK NONE, so the runtime cannot tell a hung container from a healthy one (CIS Docker Benchmark 4.6).",
		"Add a HEALTHCHECK instruction that probes the service, e.g. HEALTHCHECK CMD curl -f http://localhost/ || exit 1."),
	rule(RuleSecretInEnv, "No secrets in environment variables", CheckImageConfig, SeverityHigh,
		"An environment variable named like a secret (*_PASSWORD, *_PASSWD, *_SECRET, *_SECRET_KEY, *_TOKEN, AWS_SECRET_ACCESS_KEY) has a non-empty value in the image's configuration, where anyone who can pull the image reads it (CIS Docker Benchmark 4.10).",
		"Remove the value from ENV/ARG and inject the secret at run time (a secret store, an orchestrator secret mounted as a file, or a *_FILE variable)."),
	rule(RuleAddRemoteURL, "No ADD of remote URLs", CheckImageConfig, SeverityLow,
		"The image history shows ADD fetching a remote URL: its content is not pinned or verified and may change between builds (CIS Docker Benchmark 4.9).",
		"Download with a pinned checksum in a RUN step (or ADD --checksum=sha256:...), or COPY a vendored file."),
	rule(RulePipeToShell, "No remote scripts piped into a shell", CheckImageConfig, SeverityMedium,
		"The image history shows a downloaded script run directly by a shell (curl|sh, wget|bash, sh -c \"$(curl ...)\"), executing unverified remote code at build time.",
		"Download the script to a file, verify its checksum or signature, then run it; better, install from a signed package repository."),
	rule(RuleSSHD, "No SSH server in the image", CheckImageConfig, SeverityMedium,
		"The image exposes port 22 or ships an SSH server (sshd, dropbear). Containers should be reached through the runtime (exec), not SSH (CIS Docker Benchmark 5.7).",
		"Remove the SSH server package and the EXPOSE 22 instruction; use docker exec / kubectl exec for access."),
	rule(RuleEmptyPassword, "No accounts with an empty password", CheckAccounts, SeverityHigh,
		"An account has an empty password field in /etc/shadow or /etc/passwd, so it can log in without a password.",
		"Lock the account (passwd -l NAME, or '!' / '*' in the password field of /etc/shadow) or set a strong password."),
	rule(RuleExtraUID0, "Only root has UID 0", CheckAccounts, SeverityHigh,
		"An account other than root has UID 0 in /etc/passwd and therefore has full superuser rights.",
		"Give the account its own non-zero UID or delete it; grant privileges through groups or sudo rules instead."),
	rule(RuleWeakPassword, "No accounts with a weak password", CheckAccounts, SeverityHigh,
		"An account's password hash in the image matches a common password (the built-in dictionary of common passwords, the account's own name, or the configured extra list).",
		"Lock the account or set a long random password; better, ship images with locked accounts and inject credentials at run time."),
	rule(RulePassMaxDays, "Password maximum age is at most 90 days", CheckPasswordPolicy, SeverityLow,
		"/etc/login.defs sets PASS_MAX_DAYS above 90 (or not at all, which means passwords never expire), so passwords created in the image never need changing. Images without /etc/login.defs pass.",
		"Set PASS_MAX_DAYS 90 (or less) in /etc/login.defs."),
	rule(RulePassMinLen, "Password minimum length is at least 8", CheckPasswordPolicy, SeverityLow,
		"/etc/login.defs sets PASS_MIN_LEN below 8. When the key is absent, PAM decides the length and the rule passes.",
		"Set PASS_MIN_LEN 8 (or more) in /etc/login.defs, and minlen in the PAM password module."),
	rule(RuleWorldWritable, "No world-writable files or directories", CheckFiles, SeverityMedium,
		"A regular file, or a directory without the sticky bit, is writable by every user, outside /tmp, /var/tmp and /dev/shm. Any process in the container can change it.",
		"Remove the write bit for others (chmod o-w PATH); give shared directories the sticky bit (chmod +t)."),
	rule(RuleUnexpectedSetuid, "No unexpected setuid/setgid programs", CheckFiles, SeverityMedium,
		"A regular file has the setuid or setgid bit and is not one of the programs that Debian, Ubuntu, Alpine or RHEL base images ship that way; such programs are a privilege-escalation path.",
		"Remove the bit (chmod u-s,g-s PATH) or the program; if it is really needed, add it to the scanner's setuid allowlist."),
	rule(RulePrivateKey, "No private keys in the image", CheckFiles, SeverityHigh,
		"A file in the image holds a private key block (SSH user or host keys, *.pem or *.key files): everyone who can pull the image has the key.",
		"Remove the key from every layer (a later RUN rm does not remove it from the earlier layer) and mount it at run time as a secret."),
	rule(RuleSSHRootLogin, "SSH does not allow root password login", CheckSSH, SeverityMedium,
		"sshd_config sets PermitRootLogin yes (globally or in a Match block), allowing root to log in with a password.",
		"Set PermitRootLogin no (or prohibit-password) in /etc/ssh/sshd_config."),
	rule(RuleSSHEmptyPasswords, "SSH does not allow empty passwords", CheckSSH, SeverityHigh,
		"sshd_config sets PermitEmptyPasswords yes (globally or in a Match block), allowing accounts with empty passwords to log in over SSH.",
		"Set PermitEmptyPasswords no in /etc/ssh/sshd_config."),
}

// Rules lists every rule the analyzer evaluates, in the order of its
// results.
func Rules() []RuleInfo { return append([]RuleInfo(nil), rules...) }
