"""Crypto-shredding: personal fields sealed per data subject, keys apart from the events."""
