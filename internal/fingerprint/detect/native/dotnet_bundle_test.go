package native

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/elfscan/elffixture"
)

// singleFile is an apphost as `dotnet publish -p:PublishSingleFile=true`
// leaves it: its marker set to the offset of a bundle header of version
// major, which locates the runtimeconfig.json appended before it. Without
// bundling, the marker's offset stays zero.
func singleFile(bundle bool, major uint32, config string) string {
	marker := append(make([]byte, 8), bundleSignature...)
	exe := elffixture.File{Sections: []elffixture.Section{{Name: ".data", Data: append([]byte("initialized data"), marker...)}}}.Bytes()
	if !bundle {
		return string(exe)
	}
	exe = append(exe, "MZ the app's assembly"...)
	configOffset := len(exe)
	exe = append(exe, config...)
	headerOffset := len(exe)
	var h bytes.Buffer
	le := binary.LittleEndian
	binary.Write(&h, le, [3]uint32{major, 0, 3})
	id := "6ZCJvb3HZ3Gbvw=="
	h.WriteByte(byte(len(id)))
	h.WriteString(id)
	if major >= 2 {
		binary.Write(&h, le, [4]int64{0, 0, int64(configOffset), int64(len(config))})
		binary.Write(&h, le, uint64(0))
	}
	exe = append(exe, h.Bytes()...)
	i := bytes.Index(exe, bundleSignature)
	le.PutUint64(exe[i-8:i], uint64(headerOffset))
	return string(exe)
}

func TestDotnetSingleFile(t *testing.T) {
	included := `{"runtimeOptions": {"tfm": "net9.0", "includedFrameworks": [{"name": "Microsoft.NETCore.App", "version": "9.0.0"}]}}`
	shared := `{"runtimeOptions": {"tfm": "net8.0", "framework": {"name": "Microsoft.NETCore.App", "version": "8.0.0"}}}`
	shop := fingerprint.Process{Name: "shop", Exe: "/app/shop"}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  contract.Finding
	}{
		{"self-contained", map[string]string{"app/shop": singleFile(true, 6, included)}, contract.Finding{Kind: ".NET", KindVersion: "9.0.0"}},
		{"framework-dependent", map[string]string{"app/shop": singleFile(true, 6, shared),
			"usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.11/libcoreclr.so": "lib"}, contract.Finding{Kind: ".NET", KindVersion: "8.0.11"}},
		{"a bundle of .NET Core 3 (version 1) does not say where its runtimeconfig.json is", map[string]string{"app/shop": singleFile(true, 1, included)}, contract.Finding{Kind: ".NET"}},
		{"an apphost that was not bundled", map[string]string{"app/shop": singleFile(false, 0, "")}, contract.Finding{}},
		{"a marker that points at no bundle", map[string]string{"app/shop": singleFile(true, 0, included)}, contract.Finding{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := detectIn(t, tc.files, shop); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzBundleHeader: a hostile header at any offset never panics, and what
// it locates is within the bounds.
func FuzzBundleHeader(f *testing.F) {
	exe := []byte(singleFile(true, 6, `{"runtimeOptions": {}}`))
	f.Add(exe, int64(bytes.LastIndex(exe, []byte("6ZCJ"))-13))
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x7f}, int64(0))
	f.Fuzz(func(t *testing.T, data []byte, offset int64) {
		config, err := readBundleHeader(bytes.NewReader(data), int64(len(data)), offset)
		if err == nil && len(config) > maxRuntimeConfig {
			t.Errorf("%d bytes of runtimeconfig.json", len(config))
		}
	})
}
