package contract

import (
	"reflect"
	"testing"
)

func TestHash(t *testing.T) {
	tests := []struct{ value, want string }{
		{"rhel", "yqx1WBefoIAq"},
		{"Golang", "UOVueXxKyJ95"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Hash(tt.value); got != tt.want {
			t.Errorf("Hash(%q) = %q, want %q", tt.value, got, tt.want)
		}
	}
}

func TestHashedObfuscatesEveryValue(t *testing.T) {
	f := Finding{OS: "rhel", Kind: "Golang", Runtimes: []Runtime{{"Quarkus", ""}, {"Apache Tomcat", "11.0.1"}}}
	want := Finding{OS: Hash("rhel"), Kind: Hash("Golang"),
		Runtimes: []Runtime{{Hash("Quarkus"), ""}, {Hash("Apache Tomcat"), Hash("11.0.1")}}}
	if got := f.Hashed(); !reflect.DeepEqual(got, want) {
		t.Errorf("Hashed = %+v, want %+v", got, want)
	}
	if got := (Finding{}).Hashed(); !reflect.DeepEqual(got, Finding{}) {
		t.Errorf("Hashed of nothing = %+v", got)
	}
}
