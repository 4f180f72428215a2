package scanresult

// Severity levels of a scanned image (ListRegistryImages' severity_level).
const (
	LevelSecurity = "Security" // scanned, no vulnerability
	LevelLow      = "Low"
	LevelMedium   = "Medium"
	LevelHigh     = "High"
)

// SeverityLevel is the level of an image whose successful scan found fs:
// its most urgent finding's repair necessity (immediate High, delay Medium,
// not needed Low), the same reading of the vulnerability's severity that
// every finding already carries; Security without findings.
func SeverityLevel(fs []Finding) string {
	level := LevelSecurity
	for _, f := range fs {
		switch f.RepairNecessity {
		case "immediate_repair":
			return LevelHigh
		case "delay_repair":
			level = LevelMedium
		default:
			if level == LevelSecurity {
				level = LevelLow
			}
		}
	}
	return level
}
