package scanner

import "testing"

func TestRedactStep(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/bin/sh -c #(nop) ADD file:5d8fa1c0b2 in / ", "/bin/sh -c #(nop) ADD file:5d8fa1c0b2 in / "},
		{"RUN |2 GITHUB_TOKEN=ghp_abc123 VERSION=1.2 /bin/sh -c make", "RUN |2 GITHUB_TOKEN=****** VERSION=1.2 /bin/sh -c make"},
		{`/bin/sh -c DB_PASSWORD="s3 cret" ./configure && make`, `/bin/sh -c DB_PASSWORD=****** ./configure && make`},
		{"ENV aws_secret_access_key=wJalrXUtnFEMI", "ENV aws_secret_access_key=******"},
		{"RUN npm config set _authToken=abc; npm ci", "RUN npm config set _authToken=******; npm ci"},
		{"RUN mysql --password=hunter2 -e 'select 1'", "RUN mysql --password=****** -e 'select 1'"},
		{"RUN tool --api-key 'k-123' run", "RUN tool --api-key ****** run"},
		{"RUN git clone https://bot:ghp_x@github.com/o/r.git", "RUN git clone https://bot:******@github.com/o/r.git"},
		{"RUN curl https://example.com/a:b", "RUN curl https://example.com/a:b"},
		{`RUN curl -H "Authorization: Bearer eyJhbGci" https://x`, `RUN curl -H "Authorization: Bearer ******" https://x`},
		{"COPY --from=build /app /app", "COPY --from=build /app /app"},
		{"RUN apt-get install -y openssl # TOKENIZER=on", "RUN apt-get install -y openssl # TOKENIZER=******"}, // a name that says so is masked
	} {
		if got := redactStep(tc.in); got != tc.want {
			t.Errorf("redactStep(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
