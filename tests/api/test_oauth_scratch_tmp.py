from __future__ import annotations
import httpx
from joserfc.jwk import ECKey
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from authlib.integrations.httpx_client import AsyncOAuth2Client
from tests.network import RunningHub

async def test_scratch(hub: RunningHub) -> None:
    m = hub.members["ccpcr-shelter"]
    key = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    r = await hub.gql("secretariat", "mutation($c: String!, $j: JSON!){ registerClientKeys(clientId: $c, jwks: $j){ clientId tokenEndpointAuthMethods } }", {"c": m.client_id, "j": {"keys": [key.as_dict(private=False)]}})
    print(r.body)
    async with AsyncOAuth2Client(m.client_id, key, token_endpoint_auth_method="private_key_jwt") as c:
        c.register_client_auth_method(PrivateKeyJWT(hub.token_url, alg="ES256"))
        t = await c.fetch_token(hub.token_url, grant_type="client_credentials")
        print(t)
    a = private_key_jwt_sign(key, m.client_id, hub.token_url, alg="ES256")
    data = {"grant_type": "client_credentials", "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": a}
    for _ in range(2):
        r2 = await hub.http.post("/oauth/token", data=data)
        print(r2.status_code, r2.text, r2.headers)
    for auth, d in [((m.client_id, "bad"), {}), (("nobody", "x"), {}), (None, {"client_id": m.client_id, "client_secret": "bad"}), (None, {})]:
        r2 = await hub.http.post("/oauth/token", data={"grant_type": "client_credentials", **d}, auth=auth)
        print("bad", r2.status_code, r2.text, r2.headers.get("www-authenticate"))
    r2 = await hub.http.post("/oauth/introspect", data={"token": "x"})
    print("introspect unauth", r2.status_code, r2.text)
    r2 = await hub.http.post("/oauth/token", data={"grant_type": "password", "username": "a", "password": "b"}, auth=(m.client_id, m.client_secret))
    print("password", r2.status_code, r2.text)
    r2 = await hub.http.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "nope:x"}, auth=(m.client_id, m.client_secret))
    print("unknown scope", r2.status_code, r2.text)
