package java

import (
	"strings"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
)

// javaCommand is what the java launcher makes of a command line.
type javaCommand struct {
	Jar       string   // -jar X, as written
	ClassPath []string // -cp / -classpath / --class-path, else $CLASSPATH, else "."
	MainClass string   // the first argument that is not an option (without -jar)
	Module    bool     // -m / --module: a modular main class, no class path
	Args      []string // after the jar or the main class
}

// Launcher options followed by a separate value (java -help, JDK 8 to 25).
var javaOptionsWithValue = map[string]bool{
	"-cp": true, "-classpath": true, "--class-path": true,
	"-p": true, "--module-path": true, "--upgrade-module-path": true,
	"--add-modules": true, "--limit-modules": true, "--add-reads": true,
	"--add-exports": true, "--add-opens": true, "--patch-module": true,
	"--enable-native-access": true, "--source": true,
}

// parseJavaCommand reads a java command line (cmdline[0] is the launcher).
func parseJavaCommand(p fingerprint.Process) javaCommand {
	var c javaCommand
	var cp *string
	args := p.Cmdline
	if len(args) > 0 {
		args = args[1:]
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-jar":
			if i+1 < len(args) {
				c.Jar = args[i+1]
				c.Args = args[i+2:]
			}
			return c.withClassPath(p, cp)
		case a == "-m" || a == "--module" || strings.HasPrefix(a, "--module="):
			c.Module = true
			return c.withClassPath(p, cp)
		case javaOptionsWithValue[a]:
			if i+1 < len(args) {
				if a == "-cp" || a == "-classpath" || a == "--class-path" {
					v := args[i+1]
					cp = &v
				}
				i++
			}
		case strings.HasPrefix(a, "--class-path="):
			v := strings.TrimPrefix(a, "--class-path=")
			cp = &v
		case strings.HasPrefix(a, "-"):
			// -Dk=v, -Xmx…, -XX:…, --add-opens=…, -verbose:gc …
		default:
			c.MainClass = a
			c.Args = args[i+1:]
			return c.withClassPath(p, cp)
		}
	}
	return c.withClassPath(p, cp)
}

func (c javaCommand) withClassPath(p fingerprint.Process, cp *string) javaCommand {
	v := "."
	if cp != nil {
		v = *cp
	} else if env, ok := p.Getenv("CLASSPATH"); ok {
		v = env
	}
	for _, e := range strings.Split(v, ":") {
		if e != "" {
			c.ClassPath = append(c.ClassPath, e)
		}
	}
	return c
}

// systemProperty returns the value of -D<name>=… anywhere on the command
// line (JBoss' scripts pass some after the main class, for the server).
func systemProperty(p fingerprint.Process, name string) (string, bool) {
	prefix := "-D" + name + "="
	for _, a := range p.Cmdline {
		if strings.HasPrefix(a, prefix) {
			return strings.TrimPrefix(a, prefix), true
		}
	}
	return "", false
}
