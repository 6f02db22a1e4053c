"""Sign-In with Ethereum (EIP-4361): nonces, message verification, sessions."""
