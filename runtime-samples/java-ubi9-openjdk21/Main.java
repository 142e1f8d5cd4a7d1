// A plain Java workload: no framework, it idles until stopped.
public class Main {
    public static void main(String[] args) throws InterruptedException {
        Thread.sleep(Long.MAX_VALUE);
    }
}
