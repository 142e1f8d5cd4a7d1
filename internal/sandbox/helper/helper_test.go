package helper

import (
	"reflect"
	"strings"
	"testing"
)

func TestArgsRoundTrip(t *testing.T) {
	for _, a := range []Args{
		{UID: 0, GID: 0, LastCap: 40, Jobs: [][]string{{"fpr_os"}}},
		{UID: 1000, GID: 2000, LastCap: 63, Jobs: [][]string{{"fpr_os"}, {"fpr_java", "-x", "--", "3"}, {"fpr_native_executable", ""}}},
	} {
		got, err := DecodeArgs(a.Encode())
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Errorf("DecodeArgs(%q) = %+v, %v; want %+v", a.Encode(), got, err, a)
		}
	}
}

func TestDecodeArgsRefuses(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage"},
		{[]string{"0", "0", "40", "--"}, "usage"},
		{[]string{"0", "0", "40", "x", "1", "1", "a"}, "usage"},
		{[]string{"-1", "0", "40", "--", "1", "1", "a"}, "bad arguments"},
		{[]string{"0", "0", "256", "--", "1", "1", "a"}, "bad arguments"},
		{[]string{"0", "0", "40", "--", "0"}, "bad number of jobs"},
		{[]string{"0", "0", "40", "--", "17"}, "bad number of jobs"},
		{[]string{"0", "0", "40", "--", "2", "1", "a"}, "missing job"},
		{[]string{"0", "0", "40", "--", "1", "0"}, "bad job argument count"},
		{[]string{"0", "0", "40", "--", "1", "3", "a", "b"}, "bad job argument count"},
		{[]string{"0", "0", "40", "--", "1", "1", "a", "b"}, "1 arguments after the last job"},
	} {
		if _, err := DecodeArgs(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeArgs(%q) = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []Record{{}, {Job: 15, Event: EventUsage, Value: 1<<32 - 1}, {Job: 1, Event: EventExited, Value: 0x0900}} {
		if got := DecodeRecord(r.Encode()); got != r {
			t.Errorf("DecodeRecord(Encode(%+v)) = %+v", r, got)
		}
	}
}

// The job descriptors follow the fixed ones without overlap, within the bound on jobs.
func TestJobFDs(t *testing.T) {
	seen := map[int]bool{MntNS: true, PidNS: true, NetNS: true, IPCNS: true, UTSNS: true, CgroupNS: true, Root: true, Self: true, Status: true, Control: true}
	for j := range MaxJobs {
		for which := range fdsPerJob {
			fd := JobFD(j, which)
			if seen[fd] {
				t.Fatalf("descriptor %d used twice (job %d, %d)", fd, j, which)
			}
			seen[fd] = true
		}
	}
	if len(seen) != Control-MntNS+1+MaxJobs*fdsPerJob {
		t.Errorf("%d descriptors, want them contiguous", len(seen))
	}
}
