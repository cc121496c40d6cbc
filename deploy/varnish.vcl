vcl 4.1;
import std;
# Varnish in front of Newsroom (Debian's varnish 7). Pages carry their cache
# lifetime (Cache-Control: s-maxage, cut at the next scheduled publication) and
# their tags (Cache-Tag); the worker bans by tag as soon as content changes
# (FRONT_CACHE_URLS=http://this-varnish:6081/). Set the backend to your app
# server (or nginx) and the purge ACL to the machines that run workers.
# The tests run this file with the backend's port replaced.

backend newsroom {
    .host = "127.0.0.1";
    .port = "8000";
    .probe = {
        .url = "/sante/vivant/";
        .interval = 5s;
        .timeout = 2s;
        .window = 3;
        .threshold = 2;
        .initial = 2;
    }
}

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (!req.http.X-Purge-Tag || req.http.X-Purge-Tag !~ "^[a-z0-9:._-]+$") {
            return (synth(400, "X-Purge-Tag missing"));
        }
        # Cache-Tag is a comma-separated list without spaces.
        if (std.ban("obj.http.Cache-Tag ~ (^|,)" + req.http.X-Purge-Tag + "(,|$)")) {
            return (synth(200, "Banned"));
        }
        return (synth(400, std.ban_error()));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # A copy past its lifetime is served only while the app is down: never
    # after a scheduled publication the app is up to show.
    if (std.healthy(req.backend_hint)) {
        set req.grace = 0s;
    }
    # Staff (the session cookie) and the newsroom's own pages always reach the app.
    if (req.http.Authorization || req.http.Cookie ~ "(^|;\s*)sessionid="
        || req.url ~ "^/(admin|redaction|apercu|sante)/"
        || req.url ~ "^/newsletter/(confirmation|desinscription)/") {
        return (pass);
    }
    # Public pages read no cookie: other cookies (csrftoken left by the admin,
    # analytics) must not split or bypass the cache.
    unset req.http.Cookie;
    # Tracking parameters change nothing on a page (the app ignores them too).
    set req.url = regsuball(req.url, "([?&])(utm_[a-z]+|fbclid|gclid|mc_[a-z]+)=[^&]*", "\1");
    set req.url = regsuball(req.url, "[?&]+$", "");
    set req.url = regsuball(req.url, "\?&+", "?");
    return (hash);
}

sub vcl_backend_response {
    # Answers for one person never enter the cache.
    if (beresp.http.Set-Cookie || beresp.http.Cache-Control ~ "(private|no-store)") {
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
        return (deliver);
    }
    # Keep a copy to serve while the app is down (stale-if-error); bans still
    # remove it when content changes.
    set beresp.grace = 24h;
    return (deliver);
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Varnish-Cache = "hit";
    } else {
        set resp.http.X-Varnish-Cache = "miss";
    }
    unset resp.http.Via;
}
