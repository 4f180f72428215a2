package demo

import (
	"fmt"

	"github.com/go-crypt/crypt/algorithm/shacrypt"
)

// InsecureLabel marks the deliberately insecure sample so nobody mistakes it
// for a real image.
const InsecureLabel = "org.openhss.demo"

// eicar is the EICAR anti-virus test file: harmless by definition, detected
// by every scanner. Assembled from parts so that this source file is not
// itself a detection.
var eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}` + `$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// insecureFiles are the files of the demo image that carries findings for
// every analyzer: the EICAR test file, a root account whose password is
// "123456", and a world-writable script.
func insecureFiles() (map[string]string, error) {
	h, err := shacrypt.New(shacrypt.WithSHA512(), shacrypt.WithIterations(5000))
	if err != nil {
		return nil, err
	}
	d, err := h.Hash("123456")
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"etc/os-release":             osRelease,
		"etc/passwd":                 "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		"etc/shadow":                 fmt.Sprintf("root:%s:19700:0:99999:7:::\nnobody:*:19700:0:99999:7:::\n", d.Encode()),
		"opt/demo/samples/eicar.com": eicar,
		"README.demo":                "DEMO IMAGE - deliberately insecure: it carries the EICAR anti-virus test file and a root account with the password 123456.\n",
	}, nil
}
