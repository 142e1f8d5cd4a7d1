package java

import "testing"

func TestGlassFishProduct(t *testing.T) {
	for _, tc := range []struct {
		props         map[string]string
		name, version string
	}{
		{map[string]string{"product_name": "Eclipse GlassFish", "major_version": "7", "minor_version": "0", "update_version": "20", "version_suffix": ""}, "Eclipse GlassFish", "7.0.20"},
		{map[string]string{"product_name": "Payara Server", "major_version": "6", "minor_version": "2024", "update_version": "12", "payara_version": ""}, "Payara Server", "6.2024.12"},
		{map[string]string{"product_name": "Payara Server", "major_version": "4", "minor_version": "1", "update_version": "2", "payara_version": "181"}, "Payara Server", "4.1.2.181"},
		{map[string]string{"product_name": "Eclipse GlassFish", "major_version": "7"}, "Eclipse GlassFish", ""},
		{map[string]string{"major_version": "7", "minor_version": "0"}, "", "7.0"},
	} {
		if name, version := glassFishProduct(tc.props); name != tc.name || version != tc.version {
			t.Errorf("glassFishProduct(%v) = %q %q, want %q %q", tc.props, name, version, tc.name, tc.version)
		}
	}
}
