<?php
// A PHP workload that does nothing but stay alive.
while (true) {
    sleep(3600);
}
