package samples

// JDKPackages are the Debian packages the Java generators need: a JDK
// (javac and jar).
func JDKPackages() []string {
	return []string{"openjdk-17-jdk-headless"}
}

// NativePackages are the Debian packages GraalVMNative needs: gcc, the
// static libc and objcopy.
func NativePackages() []string {
	return []string{"gcc", "libc6-dev", "binutils"}
}

// CSharpPackages are the Debian packages a recipe's C# build needs: Mono's
// C# compiler (mcs).
func CSharpPackages() []string {
	return []string{"mono-mcs"}
}
