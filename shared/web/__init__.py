"""Foundation: the HTTP edge every function shares, its OpenAPI generator and SSE framing."""
