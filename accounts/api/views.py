from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.permissions import membership_of
from accounts.services import auth_token_get_or_create
from core.errors import ApiError

from .serializers import MeSerializer, TokenRequestSerializer, TokenResponseSerializer


class AuthTokenView(APIView):
    """Exchange a username and password for the API token."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponseSerializer})
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None:
            raise ApiError(
                "Unable to log in with the provided credentials.",
                code="invalid_credentials",
                status_code=401,
            )
        return Response({"token": auth_token_get_or_create(user=user)})


class MeView(APIView):
    """The API root: who is calling and which account they act for."""

    @extend_schema(responses={200: MeSerializer})
    def get(self, request: Request) -> Response:
        membership = membership_of(request.user)
        account = (
            {"id": membership.account_id, "name": membership.account.name, "role": membership.role}
            if membership
            else None
        )
        return Response({"username": request.user.get_username(), "account": account})
