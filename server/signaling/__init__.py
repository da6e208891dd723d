"""WebRTC signaling: routing rules, topology policy, ICE/TURN credentials (a later release)."""
