// A Mono workload that does nothing but stay alive.
class App
{
    static void Main()
    {
        System.Threading.Thread.Sleep(System.Threading.Timeout.Infinite);
    }
}
