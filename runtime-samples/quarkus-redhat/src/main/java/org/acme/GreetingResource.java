package org.acme;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;

// The application's only endpoint: enough for Quarkus to start its HTTP server.
@Path("/hello")
public class GreetingResource {
    @GET
    public String hello() {
        return "hello";
    }
}
