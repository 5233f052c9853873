package scoreboard

import "testing"

func TestFailedName(t *testing.T) {
	for _, c := range []struct {
		line string
		name string
		ok   bool
	}{
		{"2026/12/06 [INFO] memberlist: Marking n03 as failed, suspect timeout reached (2 peer confirmations)\n", "n03", true},
		{"[INFO] memberlist: Marking as failed, suspect timeout reached node=n04 confirmations=2\n", "n04", true},
		{"[INFO] memberlist: Marking as failed, suspect timeout reached node=n05\n", "n05", true},
		{"[WARN] memberlist: Refuting a suspect message node=n04\n", "", false},
	} {
		name, ok := failedName([]byte(c.line))
		if name != c.name || ok != c.ok {
			t.Errorf("failedName(%q) = %q, %v; want %q, %v", c.line, name, ok, c.name, c.ok)
		}
	}
}
