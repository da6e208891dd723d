"""WebRTC signaling: who may signal whom (relay.py); topology and ICE/TURN in a later release."""
