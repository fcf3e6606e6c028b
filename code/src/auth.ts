// Issuing and checking the HS256 tokens of POST /auth and GET /contents.
import { errors as joseErrors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { HttpError } from "./errors.ts";

export const TOKEN_LIFETIME = "1h";
const ALGORITHM = "HS256";

/** Deliberately simple: one @, no spaces, a dot in the domain; at most 254 characters (RFC 5321). */
const EMAIL = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$/;

export interface Credentials {
  readonly email: string;
  readonly password: string;
}

/** Validates the body of POST /auth; throws a 400 that names the field. */
export function readCredentials(body: unknown): Credentials {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "invalid_body", 'Send a JSON object: {"email": "...", "password": "..."}.');
  }
  const { email, password } = body as Record<string, unknown>;
  if (typeof email !== "string" || email === "") {
    throw new HttpError(400, "invalid_email", 'The field "email" is required and must be a string.');
  }
  if (email.length > 254 || !EMAIL.test(email)) {
    throw new HttpError(400, "invalid_email", 'The field "email" must be an address like name@example.com.');
  }
  if (typeof password !== "string" || password === "") {
    throw new HttpError(400, "invalid_password", 'The field "password" is required and must be a non-empty string.');
  }
  if (password.length > 1024) {
    throw new HttpError(400, "invalid_password", 'The field "password" must be at most 1024 characters.');
  }
  return { email, password };
}

export interface TokenService {
  issue(email: string): Promise<string>;
  /** Resolves with the claims, or throws a 401 HttpError. */
  verify(authorization: string | undefined): Promise<JWTPayload>;
}

const unauthorized = (message: string) => new HttpError(401, "unauthorized", message);

export function tokenService(secret: string): TokenService {
  const key = new TextEncoder().encode(secret);
  return {
    issue(email) {
      return new SignJWT({ email })
        .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
        .setSubject(email)
        .setIssuedAt()
        .setExpirationTime(TOKEN_LIFETIME)
        .sign(key);
    },
    async verify(authorization) {
      const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authorization ?? "");
      if (!match?.[1]) {
        throw unauthorized("Send the token from POST /auth as `Authorization: Bearer <token>`.");
      }
      try {
        // Only HS256 is accepted: "none", other algorithms and other keys fail here.
        const { payload } = await jwtVerify(match[1], key, { algorithms: [ALGORITHM] });
        return payload;
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired)
          throw unauthorized("The token has expired; get a new one from POST /auth.");
        if (error instanceof joseErrors.JOSEError)
          throw unauthorized("The token is not valid; get a new one from POST /auth.");
        throw error;
      }
    },
  };
}
