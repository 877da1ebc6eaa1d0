"""Integration API for the CRM side: accounts, subscriptions and instances upserted by their
external ids (a CRM sync can replay safely), objectives, activities and use-case status.

Writable fields are listed explicitly: nobody sets an owner, an id or a score through
here. Every object is reached through the access helper, so an outsider's key gets 404.
"""

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.access import account_get_for_user
from accounts.api_auth import AccountAPIView, acting_user
from accounts.models import (
    RAG,
    Account,
    AccountUseCase,
    Activity,
    ChecklistItem,
    Instance,
    Objective,
    Persona,
    Subscription,
    UseCase,
)


class AccountSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(
        source="owner.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Account
        fields = [
            "id",
            "crm_id",
            "name",
            "owner",
            "priority",
            "lifecycle_stage",
            "customer_since",
            "strategy",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "crm_id", "owner", "created_at", "updated_at"]


class SubscriptionSerializer(serializers.ModelSerializer):
    account = serializers.SlugRelatedField(slug_field="crm_id", queryset=Account.objects.all())

    class Meta:
        model = Subscription
        fields = [
            "id",
            "external_id",
            "account",
            "plan",
            "licensed_seats",
            "arr",
            "start_date",
            "renewal_date",
            "license_id",
            "updated_at",
        ]
        read_only_fields = ["id", "external_id", "updated_at"]
        extra_kwargs = {"licensed_seats": {"required": True}, "arr": {"required": True}}


class InstanceSerializer(serializers.ModelSerializer):
    account = serializers.SlugRelatedField(slug_field="crm_id", queryset=Account.objects.all())
    subscription = serializers.SlugRelatedField(
        slug_field="external_id",
        queryset=Subscription.objects.all(),
        required=False,
        allow_null=True,
    )

    class Meta:
        model = Instance
        fields = [
            "id",
            "uuid",
            "namespace_id",
            "account",
            "subscription",
            "hostname",
            "instance_type",
            "included_in_health",
            "created_at",
        ]
        read_only_fields = ["id", "uuid", "namespace_id", "created_at"]


class ObjectiveSerializer(serializers.ModelSerializer):
    use_case = serializers.SlugRelatedField(
        slug_field="key", queryset=UseCase.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Objective
        fields = [
            "id",
            "title",
            "category",
            "use_case",
            "priority",
            "status",
            "due_date",
            "baseline",
            "success_criteria",
            "metric_key_path",
            "comparison",
            "target_value",
            "last_validated_on",
            "outcome_summary",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "outcome_summary", "closed_at", "created_at", "updated_at"]


class ObjectiveCloseSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=list(Objective.CLOSED_STATUSES))
    outcome_summary = serializers.CharField(max_length=5000)


class ActivitySerializer(serializers.ModelSerializer):
    personas = serializers.SlugRelatedField(
        slug_field="key", queryset=Persona.objects.all(), many=True, required=False
    )
    author = serializers.CharField(
        source="author.username", read_only=True, default=None, allow_null=True
    )
    kind = serializers.ChoiceField(choices=Activity.Kind.choices)
    sentiment = serializers.ChoiceField(choices=RAG.choices, allow_blank=True, required=False)

    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "occurred_at",
            "body",
            "sentiment",
            "ticket_count",
            "personas",
            "author",
            "created_at",
        ]
        read_only_fields = ["id", "author", "created_at"]
        extra_kwargs = {"occurred_at": {"required": False}}

    def validate_kind(self, kind: str) -> str:
        if kind == Activity.Kind.SYSTEM:
            raise serializers.ValidationError("System events are written by UsageHub itself.")
        return kind


class AccountUseCaseSerializer(serializers.ModelSerializer):
    use_case = serializers.CharField(source="use_case.key", read_only=True)
    computed_status = serializers.CharField(read_only=True, allow_blank=True)
    override_status = serializers.CharField(read_only=True, allow_blank=True)
    checklist = serializers.SerializerMethodField()

    class Meta:
        model = AccountUseCase
        fields = [
            "use_case",
            "status",
            "computed_status",
            "override_status",
            "reason",
            "updated_at",
            "checklist",
        ]
        read_only_fields = fields

    def get_checklist(self, link: AccountUseCase) -> list[dict[str, Any]]:
        done = {p.item_id for p in link.progress.all() if p.done}
        return [
            {"id": item.pk, "title": item.title, "kind": item.kind, "done": item.pk in done}
            for item in link.use_case.checklist_items.all()
        ]


class OverrideSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["", *AccountUseCase.Status.values], allow_blank=True)
    reason = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class TickSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    done = serializers.BooleanField()


def _upsert_allowed(request: Request, existing: Account | None) -> None:
    """Creating needs a service key or an admin; changing needs edit rights (404/403)."""
    user = acting_user(request)
    if existing is None:
        if user is not None and not user.is_usagehub_admin:
            raise PermissionDenied("Only a service key or an admin may create accounts.")
        return
    if user is not None:
        account_get_for_user(user, existing.pk, for_edit=True)


class AccountList(AccountAPIView, generics.ListAPIView):
    serializer_class = AccountSerializer

    def get_queryset(self) -> QuerySet[Account]:
        return self.visible_accounts().select_related("owner").order_by("pk")


class AccountDetail(AccountAPIView, generics.RetrieveAPIView):
    serializer_class = AccountSerializer

    def get_object(self) -> Account:
        return self.account(self.kwargs["pk"])


class AccountUpsert(AccountAPIView):
    """PUT the account with this CRM id: created if new, updated where it differs."""

    serializer_class = AccountSerializer

    def put(self, request: Request, crm_id: str) -> Response:
        existing = Account.objects.filter(crm_id=crm_id).first()
        _upsert_allowed(request, existing)
        serializer = AccountSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = {k: v for k, v in serializer.validated_data.items()}
        account, _ = services.account_upsert(
            crm_id=crm_id, owner=existing.owner if existing else None, **values
        )
        code = status.HTTP_201_CREATED if existing is None else status.HTTP_200_OK
        return Response(AccountSerializer(account).data, status=code)


class SubscriptionList(AccountAPIView, generics.ListAPIView):
    serializer_class = SubscriptionSerializer

    def get_queryset(self) -> QuerySet[Subscription]:
        return (
            Subscription.objects.filter(account__in=self.visible_accounts())
            .select_related("account")
            .order_by("pk")
        )


class SubscriptionUpsert(AccountAPIView):
    serializer_class = SubscriptionSerializer

    def put(self, request: Request, external_id: str) -> Response:
        serializer = SubscriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        account = self.account(data.pop("account").pk, for_edit=True)
        existing = Subscription.objects.filter(external_id=external_id).first()
        if existing is not None:
            self.account(existing.account_id, for_edit=True)
        subscription, _ = services.subscription_upsert(
            external_id=external_id, account=account, **data
        )
        code = status.HTTP_201_CREATED if existing is None else status.HTTP_200_OK
        return Response(SubscriptionSerializer(subscription).data, status=code)


class InstanceList(AccountAPIView, generics.ListAPIView):
    serializer_class = InstanceSerializer

    def get_queryset(self) -> QuerySet[Instance]:
        return (
            Instance.objects.filter(account__in=self.visible_accounts())
            .select_related("account", "subscription")
            .order_by("pk")
        )


class InstanceUpsert(AccountAPIView):
    serializer_class = InstanceSerializer

    def put(self, request: Request, uuid: str) -> Response:
        serializer = InstanceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        account = self.account(data.pop("account").pk, for_edit=True)
        existing = Instance.objects.filter(uuid=uuid).first()
        if existing is not None:
            self.account(existing.account_id, for_edit=True)
        instance, _ = services.instance_upsert(account=account, uuid=uuid, **data)
        code = status.HTTP_201_CREATED if existing is None else status.HTTP_200_OK
        return Response(InstanceSerializer(instance).data, status=code)


class ObjectiveListCreate(AccountAPIView, generics.ListCreateAPIView):
    serializer_class = ObjectiveSerializer

    def get_queryset(self) -> QuerySet[Objective]:
        return self.account(self.kwargs["pk"]).objectives.select_related("use_case").order_by("pk")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.account(self.kwargs["pk"], for_edit=True)
        serializer = ObjectiveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        objective = services.objective_create(account=account, **serializer.validated_data)
        return Response(ObjectiveSerializer(objective).data, status=status.HTTP_201_CREATED)


class ObjectiveAPIView(AccountAPIView):
    def _objective(self, pk: int) -> Objective:
        objective = get_object_or_404(Objective, pk=pk)
        self.account(objective.account_id, for_edit=True)
        return objective


class ObjectiveUpdate(ObjectiveAPIView):
    serializer_class = ObjectiveSerializer

    def patch(self, request: Request, pk: int) -> Response:
        objective = self._objective(pk)
        serializer = ObjectiveSerializer(objective, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.objective_update(objective=objective, **serializer.validated_data)
        return Response(ObjectiveSerializer(objective).data)


class ObjectiveClose(ObjectiveAPIView):
    serializer_class = ObjectiveCloseSerializer

    def post(self, request: Request, pk: int) -> Response:
        objective = self._objective(pk)
        serializer = ObjectiveCloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.objective_close(objective=objective, **serializer.validated_data)
        return Response(ObjectiveSerializer(objective).data)


class ActivityListCreate(AccountAPIView, generics.ListCreateAPIView):
    serializer_class = ActivitySerializer

    def get_queryset(self) -> QuerySet[Activity]:
        return (
            self.account(self.kwargs["pk"])
            .activities.select_related("author")
            .prefetch_related("personas")
            .order_by("-occurred_at", "-pk")
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.account(self.kwargs["pk"], for_edit=True)
        serializer = ActivitySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        activity = services.activity_record(
            account=account,
            author=acting_user(request),
            personas=data.pop("personas", []),
            **data,
        )
        self.after_write(account)
        return Response(ActivitySerializer(activity).data, status=status.HTTP_201_CREATED)


class AccountUseCaseList(AccountAPIView, generics.ListAPIView):
    serializer_class = AccountUseCaseSerializer

    def get_queryset(self) -> QuerySet[AccountUseCase]:
        return (
            self.account(self.kwargs["pk"])
            .use_cases.select_related("use_case")
            .prefetch_related("progress", "use_case__checklist_items")
            .order_by("use_case__position")
        )


class AccountUseCaseWrite(AccountAPIView):
    """PATCH a use case's status override (with a reason); POST ticks a manual item."""

    serializer_class: Any = OverrideSerializer

    def _link(self, pk: int, key: str) -> AccountUseCase:
        account = self.account(pk, for_edit=True)
        link, _ = AccountUseCase.objects.get_or_create(
            account=account, use_case=get_object_or_404(UseCase, key=key)
        )
        return link

    def patch(self, request: Request, pk: int, key: str) -> Response:
        link = self._link(pk, key)
        serializer = OverrideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.use_case_override(
            link=link, user=acting_user(request), **serializer.validated_data
        )
        return Response(AccountUseCaseSerializer(link).data)


class ChecklistTick(AccountUseCaseWrite):
    serializer_class = TickSerializer

    def post(self, request: Request, pk: int, key: str) -> Response:
        link = self._link(pk, key)
        serializer = TickSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = get_object_or_404(ChecklistItem, pk=serializer.validated_data["item"])
        services.checklist_tick(
            link=link, item=item, done=serializer.validated_data["done"], user=acting_user(request)
        )
        return Response(AccountUseCaseSerializer(link).data)
