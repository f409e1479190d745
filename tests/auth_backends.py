"""The test client's `login()` authenticates without a request, which django-axes refuses
(it needs one to know the client). Tests keep axes on: a login() without a request counts as
one from 127.0.0.1, the test client's own address."""

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class TestClientAxesBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            request = HttpRequest()
            request.META["REMOTE_ADDR"] = "127.0.0.1"
        return super().authenticate(request, username=username, password=password, **kwargs)
